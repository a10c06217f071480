"""LLMRouter: placeholder, being written."""
