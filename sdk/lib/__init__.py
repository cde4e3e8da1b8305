"""Helpers over the resources that agents want: structured output parsed into pydantic models, function
tools from pydantic models and Python functions, stream accumulation, and a tool-running loop."""
