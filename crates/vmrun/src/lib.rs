//! Throwaway real kernels: an initramfs (cpio newc) writer and a QEMU boot harness. Not yet written.
