//! Facts that span the files of a clan: who defines each instance name and each
//! instance's settings path. They are kept as 128-bit keys with the file and
//! offset of each definition, in buckets that move to a temporary file past a
//! size, so that memory does not grow with the number of instances in a tree;
//! the buckets are then read back one at a time to find the keys that more than
//! one file of a clan defines.

use std::io::{self, Read, Seek, SeekFrom, Write};

/// An instance name, or an instance's settings path, as a 128-bit hash
/// ([`crate::digest128`]). Two different keys of one run share a hash with a
/// probability of about n²/2¹²⁹ (below 10⁻²⁴ for 10⁶ instances).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FactKey([u64; 2]);

impl FactKey {
    /// The key of an instance name (existing, or generated for a legacy instance).
    pub fn name(name: &str) -> Self {
        Self::of(&[b"name", name.as_bytes()])
    }

    /// The key of an instance's settings path.
    pub fn settings(instance: &str, target: &str) -> Self {
        Self::of(&[b"settings", instance.as_bytes(), target.as_bytes()])
    }

    fn of(parts: &[&[u8]]) -> Self {
        // Slices hash with their length: the parts cannot run into each other.
        FactKey(crate::digest128::digest128(parts))
    }

    fn bucket(self) -> usize {
        (self.0[0] >> (64 - BUCKET_BITS)) as usize
    }
}

/// One definition of a key: in which file (an index the caller chose), at which
/// byte offset, and in which analysis of that file (`generation`: a file analysed
/// again with other mounts may define other keys; only its latest analysis counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Definition {
    pub key: FactKey,
    pub file: u32,
    pub generation: u32,
    pub offset: u64,
}

impl Definition {
    const BYTES: usize = 32;

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.key.0[0].to_le_bytes());
        out.extend_from_slice(&self.key.0[1].to_le_bytes());
        out.extend_from_slice(&self.file.to_le_bytes());
        out.extend_from_slice(&self.generation.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
        let u32_at = |at: usize| Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
        Some(Definition {
            key: FactKey([u64_at(0)?, u64_at(8)?]),
            file: u32_at(16)?,
            generation: u32_at(20)?,
            offset: u64_at(24)?,
        })
    }
}

/// A key that a file defines and another file of its clan defines too: `other`
/// and `offset` are the first definition in a file other than `file` (by file
/// index, then offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedKey {
    pub file: u32,
    pub key: FactKey,
    pub other: u32,
    pub offset: u64,
}

const BUCKET_BITS: u32 = 6;
const BUCKETS: usize = 1 << BUCKET_BITS;

/// A file index that belongs to no clan.
pub const NO_CLAN: u32 = u32::MAX;

/// Definitions of one kind of key, in buckets by key.
pub struct DefinitionStore {
    buckets: Vec<Vec<Definition>>,
    buffered: usize,
    /// Definitions kept in memory before they are written out.
    limit: usize,
    spill: Option<Spill>,
}

/// Definitions written out: one temporary file, in chunks of one bucket each.
struct Spill {
    file: std::fs::File,
    end: u64,
    /// (bucket, start, definitions)
    chunks: Vec<(usize, u64, usize)>,
}

impl DefinitionStore {
    /// A store that keeps up to `limit_bytes` of definitions in memory.
    pub fn new(limit_bytes: usize) -> Self {
        DefinitionStore {
            buckets: vec![Vec::new(); BUCKETS],
            buffered: 0,
            limit: limit_bytes / Definition::BYTES,
            spill: None,
        }
    }

    pub fn push(&mut self, definition: Definition) {
        self.buckets[definition.key.bucket()].push(definition);
        self.buffered += 1;
        if self.buffered > self.limit && self.write_out().is_err() {
            // Without a temporary file the definitions stay in memory.
            self.limit = usize::MAX;
        }
    }

    /// Moves the buffered definitions to the temporary file; on an error they
    /// stay buffered (what was written before stays valid).
    fn write_out(&mut self) -> io::Result<()> {
        if self.spill.is_none() {
            self.spill = Some(Spill {
                file: tempfile::tempfile()?,
                end: 0,
                chunks: Vec::new(),
            });
        }
        let Some(spill) = self.spill.as_mut() else {
            return Ok(());
        };
        let mut bytes = Vec::with_capacity(self.buffered * Definition::BYTES);
        let mut chunks = Vec::new();
        for (bucket, definitions) in self.buckets.iter().enumerate() {
            if definitions.is_empty() {
                continue;
            }
            chunks.push((bucket, spill.end + bytes.len() as u64, definitions.len()));
            for definition in definitions {
                definition.encode(&mut bytes);
            }
        }
        spill.file.seek(SeekFrom::Start(spill.end))?;
        spill.file.write_all(&bytes)?;
        spill.end += bytes.len() as u64;
        spill.chunks.extend(chunks);
        for definitions in &mut self.buckets {
            definitions.clear();
        }
        self.buffered = 0;
        Ok(())
    }

    /// The keys that files of one clan share. `clan_of[file]` is the clan of a
    /// file (or [`NO_CLAN`]); `generation_of[file]` its latest analysis, whose
    /// definitions alone count. Sorted by file, then key.
    pub fn shared_keys(
        mut self,
        clan_of: &[u32],
        generation_of: &[u32],
    ) -> io::Result<Vec<SharedKey>> {
        let mut shared = Vec::new();
        for bucket in 0..BUCKETS {
            let mut definitions = self.read_bucket(bucket)?;
            definitions.retain(|d| {
                let file = d.file as usize;
                clan_of.get(file).is_some_and(|c| *c != NO_CLAN)
                    && generation_of.get(file) == Some(&d.generation)
            });
            let clan = |d: &Definition| clan_of.get(d.file as usize).copied().unwrap_or(NO_CLAN);
            definitions.sort_unstable_by_key(|d| (d.key, clan(d), d.file, d.offset));
            for group in definitions.chunk_by(|a, b| a.key == b.key && clan(a) == clan(b)) {
                let first = group[0];
                let Some(second) = group.iter().find(|d| d.file != first.file) else {
                    continue;
                };
                let mut last_file = None;
                for definition in group {
                    if last_file == Some(definition.file) {
                        continue;
                    }
                    last_file = Some(definition.file);
                    let other = if definition.file == first.file {
                        second
                    } else {
                        &first
                    };
                    shared.push(SharedKey {
                        file: definition.file,
                        key: definition.key,
                        other: other.file,
                        offset: other.offset,
                    });
                }
            }
        }
        shared.sort_unstable_by_key(|s| (s.file, s.key));
        Ok(shared)
    }

    /// A bucket's definitions: those written out, in order, then those buffered.
    fn read_bucket(&mut self, bucket: usize) -> io::Result<Vec<Definition>> {
        let mut definitions = Vec::new();
        if let Some(spill) = self.spill.as_mut() {
            let mut bytes = Vec::new();
            for &(_, start, count) in spill.chunks.iter().filter(|c| c.0 == bucket) {
                bytes.resize(count * Definition::BYTES, 0);
                spill.file.seek(SeekFrom::Start(start))?;
                spill.file.read_exact(&mut bytes)?;
                definitions.extend(
                    bytes
                        .chunks_exact(Definition::BYTES)
                        .filter_map(Definition::decode),
                );
            }
        }
        definitions.append(&mut self.buckets[bucket]);
        Ok(definitions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, file: u32, offset: u64) -> Definition {
        Definition {
            key: FactKey::name(name),
            file,
            generation: 0,
            offset,
        }
    }

    /// `file` shares `name` with `other`, whose first definition is at `offset`.
    fn shared_key(file: u32, name: &str, other: u32, offset: u64) -> SharedKey {
        SharedKey {
            file,
            key: FactKey::name(name),
            other,
            offset,
        }
    }

    fn shared(store: DefinitionStore, clans: &[u32], generations: &[u32]) -> Vec<SharedKey> {
        store.shared_keys(clans, generations).unwrap()
    }

    #[test]
    fn keys_differ_by_kind_and_parts() {
        assert_ne!(FactKey::name("a"), FactKey::settings("a", ""));
        assert_ne!(FactKey::settings("ab", "c"), FactKey::settings("a", "bc"));
        assert_eq!(FactKey::name("x"), FactKey::name("x"));
    }

    #[test]
    fn definitions_round_trip_through_bytes() {
        let d = Definition {
            key: FactKey::settings("i", "roles.a.settings"),
            file: 7,
            generation: 3,
            offset: u64::MAX - 1,
        };
        let mut bytes = Vec::new();
        d.encode(&mut bytes);
        assert_eq!(bytes.len(), Definition::BYTES);
        assert_eq!(Definition::decode(&bytes), Some(d));
    }

    /// Files 0, 1, 2 of clan 0 and file 3 of clan 1; file 4 in no clan.
    fn sample(limit: usize) -> DefinitionStore {
        let mut store = DefinitionStore::new(limit);
        for d in [
            def("a", 0, 10),
            def("a", 0, 5),
            def("b", 0, 1),
            def("a", 1, 20),
            def("a", 2, 30),
            def("b", 3, 1),
            def("c", 3, 2),
            def("c", 4, 2),
            def("d", 1, 1),
            def("d", 1, 9),
        ] {
            store.push(d);
        }
        store
    }

    #[test]
    fn names_the_first_definition_in_another_file_of_the_same_clan() {
        let clans = [0, 0, 0, 1, NO_CLAN];
        let found = shared(sample(usize::MAX), &clans, &[0; 5]);
        let expected = vec![
            // File 0's own first definition is at 5; the first elsewhere is file 1's.
            shared_key(0, "a", 1, 20),
            shared_key(1, "a", 0, 5),
            shared_key(2, "a", 0, 5),
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn written_out_definitions_give_the_same_answer() {
        let clans = [0, 0, 0, 1, NO_CLAN];
        let in_memory = shared(sample(usize::MAX), &clans, &[0; 5]);
        for limit in [0, Definition::BYTES, 3 * Definition::BYTES] {
            let store = sample(limit);
            assert!(store.spill.is_some(), "limit {limit} writes out");
            assert_eq!(shared(store, &clans, &[0; 5]), in_memory);
        }
    }

    #[test]
    fn only_the_latest_analysis_of_a_file_counts() {
        let mut store = sample(0);
        // File 2 was analysed again and no longer defines `a`, but defines `d`.
        store.push(Definition {
            generation: 1,
            ..def("d", 2, 4)
        });
        let found = shared(store, &[0, 0, 0, 1, NO_CLAN], &[0, 0, 1, 0, 0]);
        let mut expected = vec![
            shared_key(0, "a", 1, 20),
            shared_key(1, "a", 0, 5),
            shared_key(1, "d", 2, 4),
            shared_key(2, "d", 1, 1),
        ];
        expected.sort_unstable_by_key(|s| (s.file, s.key));
        assert_eq!(found, expected);
    }
}
