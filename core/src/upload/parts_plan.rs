//! How a multipart upload is cut into parts: every part but the last has the same size
//! (R2 requires it), that size is at least 5 MiB (the S3 minimum for all parts but the
//! last), and there are at most 10,000 parts (the S3 maximum). Pure.

/// The S3 minimum size of every part but the last.
pub const MIN_PART: u64 = 5 * 1024 * 1024;
/// The S3 maximum size of one part.
pub const MAX_PART: u64 = 5 * 1024 * 1024 * 1024;
/// The S3 maximum number of parts.
pub const MAX_PARTS: u64 = 10_000;
/// Part sizes are whole MiB, so they read well and divide evenly.
const MIB: u64 = 1024 * 1024;

/// The cut of one upload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartPlan {
    pub total: u64,
    pub part_size: u64,
    pub part_count: u32,
}

impl PartPlan {
    /// Cuts `total` bytes into parts of `preferred` bytes, or larger where 10,000 parts of
    /// that size would not hold it. `None` if no valid cut exists (more than 10,000
    /// parts of 5 GiB).
    pub fn new(total: u64, preferred: u64) -> Option<PartPlan> {
        let fitting = total.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
        let part_size = preferred.max(MIN_PART).max(fitting);
        if part_size > MAX_PART {
            return None;
        }
        let part_count = u32::try_from(total.div_ceil(part_size).max(1)).ok()?;
        Some(PartPlan {
            total,
            part_size,
            part_count,
        })
    }

    /// The plan a session recorded.
    pub fn recorded(total: u64, part_size: u64, part_count: u32) -> PartPlan {
        PartPlan {
            total,
            part_size,
            part_count,
        }
    }

    /// The exact length of part `n` (1-based), or `None` outside the plan.
    pub fn len_of(&self, n: u32) -> Option<u64> {
        if n == 0 || n > self.part_count {
            return None;
        }
        let before = u64::from(n - 1) * self.part_size;
        Some(self.part_size.min(self.total.saturating_sub(before)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_last_part_follows_equal_parts() {
        let plan = PartPlan::new(25 * MIB + 3, 10 * MIB).expect("plan");
        assert_eq!((plan.part_size, plan.part_count), (10 * MIB, 3));
        assert_eq!(plan.len_of(1), Some(10 * MIB));
        assert_eq!(plan.len_of(2), Some(10 * MIB));
        assert_eq!(plan.len_of(3), Some(5 * MIB + 3));
        assert_eq!(plan.len_of(0), None);
        assert_eq!(plan.len_of(4), None);
    }

    #[test]
    fn an_exact_multiple_has_no_short_part() {
        let plan = PartPlan::new(20 * MIB, 10 * MIB).expect("plan");
        assert_eq!(plan.part_count, 2);
        assert_eq!(plan.len_of(2), Some(10 * MIB));
    }

    #[test]
    fn small_uploads_are_one_part_and_parts_are_never_under_5_mib() {
        let plan = PartPlan::new(3, 1).expect("plan");
        assert_eq!((plan.part_size, plan.part_count), (MIN_PART, 1));
        assert_eq!(plan.len_of(1), Some(3));
    }

    #[test]
    fn huge_uploads_grow_the_part_size_to_stay_within_10000_parts() {
        let total = 5 * 1024 * 1024 * 1024 * 1024; // 5 TiB, the largest S3 object
        let plan = PartPlan::new(total, 10 * MIB).expect("plan");
        assert!(u64::from(plan.part_count) <= MAX_PARTS);
        assert_eq!(plan.part_size % MIB, 0);
        let sum: u64 = (1..=plan.part_count).filter_map(|n| plan.len_of(n)).sum();
        assert_eq!(sum, total);
        for n in 1..plan.part_count {
            assert_eq!(plan.len_of(n), Some(plan.part_size));
        }
    }

    #[test]
    fn every_cut_sums_to_the_total_with_equal_parts_but_the_last() {
        for total in [1, MIN_PART, MIN_PART + 1, 99 * MIB + 17, 1 << 40] {
            for preferred in [MIN_PART, 8 * MIB, 64 * MIB] {
                let plan = PartPlan::new(total, preferred).expect("plan");
                let lens: Vec<u64> = (1..=plan.part_count)
                    .filter_map(|n| plan.len_of(n))
                    .collect();
                assert_eq!(lens.iter().sum::<u64>(), total);
                assert!(lens[..lens.len() - 1].iter().all(|l| *l == plan.part_size));
                assert!(*lens.last().expect("a part") > 0);
                assert!(plan.part_size >= MIN_PART && u64::from(plan.part_count) <= MAX_PARTS);
            }
        }
    }

    #[test]
    fn beyond_10000_parts_of_5_gib_there_is_no_plan() {
        assert_eq!(PartPlan::new(MAX_PARTS * MAX_PART + 1, MIN_PART), None);
    }
}
