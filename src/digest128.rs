//! A 128-bit digest of any hashable value, for the places that identify values
//! by a digest instead of keeping them: the meaning of a file's instances before
//! and after a rewrite, and the instance names and settings paths a clan's files
//! define. It is SipHash-1-3 with its 128-bit output and fixed keys, so the same
//! value has the same digest in every run and on every machine; two different
//! values share one with a chance of about 2⁻¹²⁸ (for n values in a run, about
//! n²/2¹²⁹ that any two of them do). One pass over the value gives all 128 bits.

use siphasher::sip128::{Hasher128, SipHasher13};
use std::hash::Hash;

pub fn digest128<T: Hash + ?Sized>(value: &T) -> [u64; 2] {
    let mut hasher = SipHasher13::new();
    value.hash(&mut hasher);
    let hash = hasher.finish128();
    [hash.h1, hash.h2]
}

#[cfg(test)]
mod tests {
    use super::digest128;

    #[test]
    fn equal_values_have_equal_digests_and_different_ones_do_not() {
        let a = digest128(&[b"name".as_slice(), b"zerotier-default".as_slice()]);
        let b = digest128(&[b"name".as_slice(), b"zerotier-default".as_slice()]);
        assert_eq!(a, b);
        // Slices hash with their length: moving a byte between parts changes the digest.
        let c = digest128(&[b"name".as_slice(), b"zerotier-defaul".as_slice()]);
        let d = digest128(&[b"namez".as_slice(), b"erotier-default".as_slice()]);
        assert_ne!(a, c);
        assert_ne!(a, d);
        // Both halves carry information.
        assert_ne!(a[0], a[1]);
        assert_ne!(a[1], c[1]);
    }
}
