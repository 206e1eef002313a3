"""The executable capability kernel and its abstraction to `models/kernel/concrete.ftv`."""

from ftverify.kernel_impl.abstraction import KernelAdapter
from ftverify.kernel_impl.kernel import Error, Kernel, Ok

__all__ = ["Error", "Kernel", "KernelAdapter", "Ok"]
