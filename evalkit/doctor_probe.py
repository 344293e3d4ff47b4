"""Child process of ``evalkit doctor``: load a GGUF model in llama.cpp and generate one token.

Run as ``python -m evalkit.doctor_probe MODEL.gguf``; prints one JSON object. It runs in its
own process because a llama.cpp built for the wrong CPU kills its process (SIGILL), and the
doctor must survive that to say so.
"""

from __future__ import annotations

import json
import sys
import time


def probe(model_path: str) -> dict[str, object]:
    """Load the model with one thread, evaluate a short prompt and sample one token greedily."""
    started = time.perf_counter()
    import llama_cpp  # imported here: this import is what fails on a broken build

    llama = llama_cpp.Llama(model_path=model_path, n_ctx=128, n_threads=1, verbose=False)
    llama.eval(llama.tokenize(b"The capital of France is"))
    token = llama.sample(temp=0.0)
    return {
        "token": llama.detokenize([token]).decode("utf-8", errors="replace"),
        "seconds": round(time.perf_counter() - started, 2),
        "system_info": llama_cpp.llama_print_system_info().decode("utf-8", errors="replace"),
    }


def main(argv: list[str]) -> int:
    """Print the probe's JSON for the model named in ``argv[0]``."""
    if len(argv) != 1:
        print("usage: python -m evalkit.doctor_probe MODEL.gguf", file=sys.stderr)
        return 2
    print(json.dumps(probe(argv[0])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
