"""RetinaVLM toolkit: OCT encoder + projection adapter + Llama 3, staged curricula, clinical grading."""

import logging

__version__ = "0.1.0"


class _OfflineKernelNotice(logging.Filter):
    """Drops bitsandbytes' notice that it could not fetch a CPU kernel from the model hub.

    On CPUs with AVX512-bf16, importing bitsandbytes tries the `kernels` package, which downloads kernels from
    the hub. The toolkit is offline by design and never installs it, so bitsandbytes' built-in CPU kernel is the
    intended one and the notice is noise in every command's output. Other bitsandbytes messages pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "kernels-community" not in record.getMessage()


# Set before anything imports bitsandbytes (transformers and peft do, on import).
logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_OfflineKernelNotice())
