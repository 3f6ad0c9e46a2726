//! A `union bpf_attr` or `struct perf_event_attr` being filled in field by field, at the
//! byte offsets of the kernel's UAPI headers. Unused bytes stay zero, as the kernel requires.

pub(crate) struct Attr([u8; 144]);

impl Attr {
    pub(crate) fn new() -> Attr {
        Attr([0; 144])
    }

    pub(crate) fn u32(&mut self, off: usize, v: u32) -> &mut Self {
        self.0[off..off + 4].copy_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn u64(&mut self, off: usize, v: u64) -> &mut Self {
        self.0[off..off + 8].copy_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn get_u32(&self, off: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.0[off..off + 4]);
        u32::from_le_bytes(b)
    }

    /// An object name (`char name[16]`): at most 15 of the characters the kernel accepts
    /// (alphanumerics, `_` and `.`), NUL-terminated by the zero fill.
    pub(crate) fn name(&mut self, off: usize, name: &str) -> &mut Self {
        let clean: Vec<u8> = name
            .bytes()
            .filter(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b'.')
            .take(15)
            .collect();
        self.0[off..off + clean.len()].copy_from_slice(&clean);
        self
    }

    pub(crate) fn as_mut_ptr(&mut self) -> *mut u8 {
        self.0.as_mut_ptr()
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_and_cut() {
        let mut a = Attr::new();
        a.name(0, "kmodkit trace:probe/one_long_name");
        assert_eq!(&a.0[..16], b"kmodkittracepro\0");
    }

    #[test]
    fn little_endian_fields() {
        let mut a = Attr::new();
        a.u32(4, 0x0102_0304).u64(8, 0x0a0b_0c0d_0e0f_1011);
        assert_eq!(
            &a.0[4..16],
            &[4, 3, 2, 1, 0x11, 0x10, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a]
        );
        assert_eq!(a.get_u32(4), 0x0102_0304);
    }
}
