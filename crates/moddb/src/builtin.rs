//! `modules.builtin.modinfo`: the `.modinfo` strings of modules linked into the kernel, each
//! `module.key=value\0`, grouped by module (libkmod-builtin.c).
//!
//! libkmod walks the file in blocks of consecutive strings sharing a module prefix and takes
//! the first block whose prefix equals the name; strings without a `.` end the walk.

/// The `(key, value)` pairs of `name`'s first block, or `None` if no block has that name.
/// A string without `=` is a key with an empty value (as `kmod_module_get_info`).
pub fn modinfo(data: &[u8], name: &str) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut strings = data.split(|&b| b == 0).peekable();
    // A trailing NUL yields one empty final piece; libkmod stops at the file's end.
    let mut found: Option<Vec<(Vec<u8>, Vec<u8>)>> = None;
    let mut current: Option<&[u8]> = None;
    for s in &mut strings {
        if s.is_empty() {
            // get_string never returns an empty string as a block member: an empty string
            // has no '.', which ends the walk.
            break;
        }
        let Some(dot) = s.iter().position(|&b| b == b'.') else {
            break;
        };
        let (module, rest) = (&s[..dot], &s[dot + 1..]);
        if current != Some(module) {
            if found.is_some() {
                break;
            }
            current = Some(module);
        }
        if module == name.as_bytes() {
            let (k, v) = match rest.iter().position(|&b| b == b'=') {
                Some(e) => (&rest[..e], &rest[e + 1..]),
                None => (rest, &rest[rest.len()..]),
            };
            found
                .get_or_insert_with(Vec::new)
                .push((k.to_vec(), v.to_vec()));
        }
    }
    found
}

/// Every module name in the file, in order of first appearance (depmod's builtin alias
/// index walks the same blocks).
pub fn blocks(data: &[u8]) -> Vec<(&[u8], Vec<&[u8]>)> {
    let mut out: Vec<(&[u8], Vec<&[u8]>)> = Vec::new();
    for s in data.split(|&b| b == 0) {
        let Some(dot) = s.iter().position(|&b| b == b'.') else {
            break;
        };
        let (module, rest) = (&s[..dot], &s[dot + 1..]);
        match out.last_mut() {
            Some((m, v)) if *m == module => v.push(rest),
            _ => out.push((module, vec![rest])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn first_block_wins() {
        let d = b"a.x=1\0a.y\0b.z=2\0a.w=3\0";
        assert_eq!(
            super::modinfo(d, "a"),
            Some(vec![
                (b"x".to_vec(), b"1".to_vec()),
                (b"y".to_vec(), vec![])
            ])
        );
        assert_eq!(super::modinfo(d, "b").unwrap().len(), 1);
        assert_eq!(super::modinfo(d, "c"), None);
        assert_eq!(super::blocks(d).len(), 3);
    }
}
