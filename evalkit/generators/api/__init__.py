"""HTTP API backends (OpenAI, OpenAI-compatible servers, Anthropic): clients, retries, limits, redaction."""
