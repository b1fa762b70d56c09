"""The toolkit's commands print no library notice about fetching kernels from the hub (offline by design)."""

import logging
import subprocess
import sys

import retinavlm  # noqa: F401  (installs the filter)


def _record(message: str) -> logging.LogRecord:
    return logging.LogRecord("bitsandbytes.backends.cpu.ops", logging.WARNING, __file__, 1, message, (), None)


def test_the_hub_kernel_notice_is_dropped_and_other_bitsandbytes_warnings_pass():
    logger = logging.getLogger("bitsandbytes.backends.cpu.ops")
    notice = "Failed to load CPU gemm_4bit_forward from kernels-community: No module named 'kernels'."
    assert not logger.filter(_record(notice))
    assert logger.filter(_record("4-bit weights on this device are slow"))


def test_importing_the_language_model_prints_no_hub_kernel_notice():
    result = subprocess.run(
        [sys.executable, "-c", "import retinavlm.model.llm"], capture_output=True, text=True, check=True
    )
    assert "kernels-community" not in result.stderr + result.stdout
