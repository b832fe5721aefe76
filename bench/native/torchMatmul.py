"""PyTorch's float32 matmul rate at the image step's input-layer shape (256×784 · 784×512) with the
OpenBLAS core it runs: what the peer's products get on this machine. One thread count per process,
set everywhere (torch, OpenMP, OpenBLAS) as the peer bench sets it:

  for n in 1 2; do env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=$n OPENBLAS_NUM_THREADS=$n \\
    /usr/bin/python3 bench/native/torchMatmul.py $n; done
"""
import ctypes, glob, sys, time
import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
core = "?"
for lib in glob.glob("/usr/lib/x86_64-linux-gnu/**/libopenblas*.so*", recursive=True):
    try:
        so = ctypes.CDLL(lib)
        so.openblas_get_corename.restype = ctypes.c_char_p
        so.openblas_get_num_threads.restype = ctypes.c_int
        core = f"{so.openblas_get_corename().decode()}, {so.openblas_get_num_threads()} OpenBLAS thread(s)"
        break
    except (OSError, AttributeError):
        continue
torch.set_num_threads(threads)
a, b = torch.rand(256, 784), torch.rand(784, 512)
for _ in range(20):
    a @ b
rates = []
for _ in range(7):
    t = time.perf_counter()
    for _ in range(50):
        a @ b
    rates.append(50 * 2 * 256 * 784 * 512 / (time.perf_counter() - t) / 1e9)
print(f"torch {torch.__version__}, {threads} torch thread(s), OpenBLAS core {core}: {sorted(rates)[3]:.1f} GFLOP/s (256x784 @ 784x512, median of 7)")
