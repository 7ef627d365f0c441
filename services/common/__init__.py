"""kernelwright.common."""
