"""What every benchmark needs: the project on sys.path, one BLAS thread, and a line
about the machine (CPU, cores, RAM, NumPy and the BLAS kernel) and its load."""
import os
import platform
import resource
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_name] = "1"  # before numpy loads its BLAS: one thread, as the task scripts
if "numpy" in sys.modules:
    raise RuntimeError("import common before numpy: the BLAS reads its thread count at load")


def cpu_line() -> str:
    """'AMD EPYC (AVX-512), 2 cores, 24.1 GB RAM'."""
    info = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            info.setdefault(key.strip(), value.strip())
        kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    except (OSError, StopIteration):
        return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    flags = info.get("flags", "").split()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return (f"{info.get('model name', platform.machine())} ({vector}), {os.cpu_count()} cores, "
            f"{kb * 1024 / 1e9:.1f} GB RAM")


def machine_line() -> str:
    """The CPU, Python, NumPy and its BLAS with the kernel it picked, and the load."""
    import numpy as np
    from threadpoolctl import threadpool_info

    blas = ", ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')} "
                     f"kernels)" for i in threadpool_info() if i.get("user_api") == "blas")
    return (f"machine: {cpu_line()}; Python {platform.python_version()}, NumPy "
            f"{np.__version__}, {blas or 'BLAS unknown'}\n{load_line()}")


def load_line() -> str:
    """How busy the cores were in the last second, before this benchmark starts work (the
    load average would count this benchmark's own earlier rounds)."""
    def idle_and_total():
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)
    try:
        idle, total = idle_and_total()
        time.sleep(1)
        idle2, total2 = idle_and_total()
    except OSError:
        return f"load average (1 min): {os.getloadavg()[0]:.2f}"
    busy = 1 - (idle2 - idle) / max(1, total2 - total)
    return (f"cores busy in the last second: {busy:.0%}"
            + ("  <- others are using the cores: do not trust the times" if busy > 0.1 else ""))


class OthersWatch:
    """How much CPU other processes used while this benchmark measured: the machine's busy
    time (/proc/stat) less this process's and its children's. `with OthersWatch() as w:`,
    then w.line()."""

    def __enter__(self):
        self.start = self._busy(), self._ours(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.end = self._busy(), self._ours(), time.perf_counter()

    @staticmethod
    def _busy() -> float:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:8]]
        return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _ours() -> float:
        return sum(r.ru_utime + r.ru_stime for r in (
            resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)))

    def cores(self) -> float:
        """Cores' worth of CPU others used on average (0.1 = a tenth of a core)."""
        (busy0, ours0, t0), (busy1, ours1, t1) = self.start, self.end
        return max(0.0, (busy1 - busy0) - (ours1 - ours0)) / (t1 - t0)

    def line(self) -> str:
        others = self.cores()
        return (f"other processes used {others:.2f} cores on average meanwhile"
                + ("  <- do not trust these times: measure again when the machine is idle"
                   if others > 0.05 else ""))
