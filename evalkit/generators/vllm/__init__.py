"""The vLLM backends: the in-process engine and a served vLLM, plus GGUF conversion."""
