//! Module signatures, keys, certificates and keyrings (the trust issue). Not yet written.
