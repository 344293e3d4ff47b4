"""The embedded llama.cpp backend: GGUF files loaded in this process."""
