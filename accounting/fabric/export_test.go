package fabric

// IsEndorsementShortfall lets the benchmark retry what Client's own retry
// retries, while it counts the attempts.
var IsEndorsementShortfall = isEndorsementShortfall
