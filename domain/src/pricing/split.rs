//! The two roundings of the engine, in one place: a percentage of an amount, and
//! an amount split over parts so that the parts add up to it exactly.

/// `basis_points` / 10 000 of `amount` (non-negative), rounded half up.
pub fn percent_of(amount: i64, basis_points: u32) -> i64 {
    let exact = i128::from(amount.max(0)) * i128::from(basis_points);
    i64::try_from((exact + 5_000) / 10_000).unwrap_or(i64::MAX)
}

/// The part of an amount `gross` that is tax at `basis_points` when the amount
/// includes that tax: gross × rate / (1 + rate), rounded half up.
pub(crate) fn included_tax(gross: i64, basis_points: u32) -> i64 {
    let numerator = i128::from(gross.max(0)) * i128::from(basis_points);
    let denominator = 10_000 + i128::from(basis_points);
    i64::try_from((2 * numerator + denominator) / (2 * denominator)).unwrap_or(i64::MAX)
}

/// Splits `total` over parts in proportion to `weights` (non-negative) by the
/// largest-remainder method: each part first takes the floor of its exact share,
/// then the units left over go one each to the largest remainders (ties to the
/// earlier part). The parts add up to `total` exactly; when `total` is at most the
/// sum of the weights, no part exceeds its weight. All weights zero: all parts zero
/// (there is nothing to split over, and callers never split more than the weights).
pub fn split(total: i64, weights: &[i64]) -> Vec<i64> {
    let weight_sum: i128 = weights.iter().map(|w| i128::from((*w).max(0))).sum();
    if weight_sum == 0 || total <= 0 {
        return vec![0; weights.len()];
    }
    let total = i128::from(total);
    let mut parts = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    for (index, weight) in weights.iter().enumerate() {
        let exact = total * i128::from((*weight).max(0));
        parts.push(exact / weight_sum);
        remainders.push((exact % weight_sum, index));
    }
    let mut left = total - parts.iter().sum::<i128>();
    // Largest remainder first; the earlier part first among equals.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, index) in remainders {
        if left == 0 {
            break;
        }
        parts[index] += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|part| i64::try_from(part).unwrap_or(i64::MAX))
        .collect()
}
