"""What plugins contribute: tools, prompts and resources, declared with plain Python objects."""
