//! The eBPF instruction set: encoding, decoding, assembler, disassembler, ELF objects. Not yet written.
