"""CircuitBreaker: placeholder, being written."""
