//! Taint flags, as kernel/panic.c defines them (`taint_flags[]`): bit, letter when set,
//! whether the flag is also recorded per module, and what it means.

/// One taint flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag {
    pub bit: u32,
    pub letter: char,
    /// Also shown in `/sys/module/NAME/taint` and `/proc/modules` (`module` in panic.c).
    pub per_module: bool,
    pub name: &'static str,
    pub meaning: &'static str,
}

const fn f(
    bit: u32,
    letter: char,
    per_module: bool,
    name: &'static str,
    meaning: &'static str,
) -> Flag {
    Flag {
        bit,
        letter,
        per_module,
        name,
        meaning,
    }
}

/// Every flag the 6.x kernels know, in bit order.
pub const FLAGS: &[Flag] = &[
    f(
        0,
        'P',
        true,
        "PROPRIETARY_MODULE",
        "proprietary module was loaded",
    ),
    f(1, 'F', true, "FORCED_MODULE", "module was force loaded"),
    f(
        2,
        'S',
        false,
        "CPU_OUT_OF_SPEC",
        "kernel running on an out of specification system",
    ),
    f(3, 'R', false, "FORCED_RMMOD", "module was force unloaded"),
    f(
        4,
        'M',
        false,
        "MACHINE_CHECK",
        "processor reported a Machine Check Exception (MCE)",
    ),
    f(
        5,
        'B',
        false,
        "BAD_PAGE",
        "bad page referenced or some unexpected page flags",
    ),
    f(
        6,
        'U',
        false,
        "USER",
        "taint requested by userspace application",
    ),
    f(
        7,
        'D',
        false,
        "DIE",
        "kernel died recently, i.e. there was an OOPS or BUG",
    ),
    f(
        8,
        'A',
        false,
        "OVERRIDDEN_ACPI_TABLE",
        "an ACPI table was overridden by user",
    ),
    f(9, 'W', false, "WARN", "kernel issued warning"),
    f(10, 'C', true, "CRAP", "staging driver was loaded"),
    f(
        11,
        'I',
        false,
        "FIRMWARE_WORKAROUND",
        "workaround for bug in platform firmware applied",
    ),
    f(
        12,
        'O',
        true,
        "OOT_MODULE",
        "externally-built (\"out-of-tree\") module was loaded",
    ),
    f(
        13,
        'E',
        true,
        "UNSIGNED_MODULE",
        "unsigned module was loaded",
    ),
    f(14, 'L', false, "SOFTLOCKUP", "soft lockup occurred"),
    f(15, 'K', true, "LIVEPATCH", "kernel has been live patched"),
    f(
        16,
        'X',
        true,
        "AUX",
        "auxiliary taint, defined for and used by distros",
    ),
    f(
        17,
        'T',
        true,
        "RANDSTRUCT",
        "kernel was built with the struct randomization plugin",
    ),
    f(18, 'N', true, "TEST", "an in-kernel test has been run"),
];

/// The flags set in `mask`, in bit order; bits no kernel defines are returned separately.
pub fn decode(mask: u64) -> (Vec<Flag>, u64) {
    let set: Vec<Flag> = FLAGS
        .iter()
        .copied()
        .filter(|f| mask & (1 << f.bit) != 0)
        .collect();
    let known: u64 = FLAGS.iter().map(|f| 1u64 << f.bit).sum();
    (set, mask & !known)
}

/// The flag with this letter.
pub fn by_letter(c: char) -> Option<Flag> {
    FLAGS.iter().copied().find(|f| f.letter == c)
}

/// The per-module letters of `mask` in the kernel's order (module_flags_taint: the
/// taint_flags table order, only flags with `module` set), e.g. 12288 -> "OE".
pub fn module_letters(mask: u64) -> String {
    FLAGS
        .iter()
        .filter(|f| f.per_module && mask & (1 << f.bit) != 0)
        .map(|f| f.letter)
        .collect()
}

/// The mask of a letter string ("OE" -> 12288); unknown letters are returned as Err.
pub fn mask_of_letters(letters: &str) -> Result<u64, char> {
    letters
        .chars()
        .try_fold(0u64, |m, c| by_letter(c).map(|f| m | 1 << f.bit).ok_or(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oe_is_12288() {
        assert_eq!(mask_of_letters("OE"), Ok(12288));
        assert_eq!(module_letters(12288), "OE");
        assert_eq!(module_letters(1 | 4096 | 8192), "POE");
        let (set, unknown) = decode(12288 | 1 << 40);
        assert_eq!(set.iter().map(|f| f.letter).collect::<String>(), "OE");
        assert_eq!(unknown, 1 << 40);
        for (i, f) in FLAGS.iter().enumerate() {
            assert_eq!(f.bit as usize, i);
        }
    }
}
