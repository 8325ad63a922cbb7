"""Per-subtask jinja2 templates (instruction, input, output), shipped as package data."""
