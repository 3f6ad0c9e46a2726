//! Kernel module files (`.ko`), read from bytes.
//!
//! This crate owns the knowledge of what is inside a module file: the ELF container (32 and
//! 64 bit, either byte order), the `.modinfo` key/value strings, modversions (`__versions`),
//! the module's name (`.gnu.linkonce.this_module`), exported and undefined symbols as kmod
//! reads them, the appended signature (`struct module_signature` and the PKCS#7 it frames),
//! and compression detected by content (xz, zstd, gzip).
//!
//! It must not touch files, processes or the running kernel: it takes `&[u8]` and returns
//! typed values or an [`Error`] saying at which offset what was expected. Mapping files is the
//! system crate's job (`modsys`).
//!
//! Why a hand-written ELF reader rather than the `object` crate: kmod's tools are lenient in
//! precise, observable ways (a section whose bounds run past the file is skipped, not fatal;
//! `.modinfo` strings are split on runs of NUL bytes) and depmod/modinfo output depends on
//! them. Reproducing those rules is this project's own knowledge; the reader is small.

mod compress;
mod elf;
mod error;
mod info;
pub mod signature;
pub mod spare;
mod symbols;
pub mod taint;
pub mod validate;

pub use compress::{decompress, Compression};
pub use elf::{Elf, Section};
pub use error::Error;
pub use info::ModInfo;
pub use signature::{ModuleSignature, SignatureInfo, SIG_MAGIC};
pub use symbols::{Bind, Symbol};
pub use validate::{validate, Invalid, Target};

use std::borrow::Cow;

/// A module file's contents, decompressed, with its ELF parsed.
///
/// `Module::parse` accepts the bytes of a file as found on disk (compressed or not).
pub struct Module<'a> {
    data: Cow<'a, [u8]>,
    compression: Compression,
    elf: elf::Header,
}

impl Drop for Module<'_> {
    fn drop(&mut self) {
        if let Cow::Owned(buf) = std::mem::replace(&mut self.data, Cow::Borrowed(&[])) {
            spare::give(buf);
        }
    }
}

impl<'a> Module<'a> {
    /// Parse a module from the bytes of a file (decompressing by content if needed).
    pub fn parse(raw: &'a [u8]) -> Result<Self, Error> {
        let compression = Compression::detect(raw);
        let data = decompress(raw)?;
        let elf = elf::Header::parse(&data)?;
        Ok(Module {
            data,
            compression,
            elf,
        })
    }

    /// The decompressed bytes: ELF image plus any appended signature.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }

    /// How the file was compressed.
    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// The ELF view of the module.
    pub fn elf(&self) -> Elf<'_> {
        Elf::new(&self.data, &self.elf)
    }

    /// `.modinfo` key/value strings in file order, split as kmod splits them.
    pub fn modinfo(&self) -> ModInfo<'_> {
        ModInfo::parse(self.elf().section_data(".modinfo").unwrap_or(&[]))
    }

    /// The module name the kernel will use, from `.gnu.linkonce.this_module`
    /// (`struct module`'s `name` field), or from `.modinfo`'s `name=` when that section is absent.
    pub fn name(&self) -> Option<String> {
        symbols::this_module_name(&self.elf()).or_else(|| {
            self.modinfo()
                .get("name")
                .map(|v| String::from_utf8_lossy(v).into_owned())
        })
    }

    /// The `__versions` entries (modversions CRCs of the symbols this module uses).
    pub fn versions(&self) -> Result<Vec<Symbol>, Error> {
        symbols::modversions(&self.elf())
    }

    /// Exported symbols as kmod's `kmod_elf_get_symbols` reads them (`__crc_*` symbols of the
    /// symbol table with their CRCs, else the `__ksymtab_strings` section).
    pub fn exported_symbols(&self) -> Result<Vec<Symbol>, Error> {
        symbols::exported(&self.elf())
    }

    /// Undefined symbols with the CRC each is expected to have, as kmod's
    /// `kmod_elf_get_dependency_symbols` (what depmod resolves dependencies from).
    pub fn dependency_symbols(&self) -> Result<Vec<Symbol>, Error> {
        symbols::dependencies(&self.elf())
    }

    /// The appended signature, if the module carries one with a well-formed trailer.
    pub fn signature(&self) -> Result<Option<ModuleSignature<'_>>, Error> {
        signature::ModuleSignature::find(&self.data)
    }
}
