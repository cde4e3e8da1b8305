"""The forward pass: the compact model, the transformers fallback, matmul kernels, native kernels, LoRA adapters."""
