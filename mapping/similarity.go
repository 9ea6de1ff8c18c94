package mapping

// similarity returns the Jaro-Winkler similarity (0..1) of the normalized
// forms of a and b (see normalizeName: case, accents, spaces and
// punctuation ignored). Equal normalized names score 1; names that
// normalize to nothing score 0.
func similarity(a, b string) float64 {
	return jaroWinkler([]rune(normalizeName(a)), []rune(normalizeName(b)))
}

// jaroWinkler is the Jaro similarity with Winkler's prefix bonus (prefix
// of up to 4 runes, scaling factor 0.1).
func jaroWinkler(a, b []rune) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	if string(a) == string(b) {
		return 1
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	window := len(b)/2 - 1
	if window < 0 {
		window = 0
	}
	ma := make([]bool, len(a))
	mb := make([]bool, len(b))
	matches := 0
	for i, r := range a {
		lo, hi := max(0, i-window), min(len(b), i+window+1)
		for j := lo; j < hi; j++ {
			if !mb[j] && b[j] == r {
				ma[i], mb[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	trans := 0
	j := 0
	for i := range a {
		if !ma[i] {
			continue
		}
		for !mb[j] {
			j++
		}
		if a[i] != b[j] {
			trans++
		}
		j++
	}
	m := float64(matches)
	jaro := (m/float64(len(a)) + m/float64(len(b)) + (m-float64(trans)/2)/m) / 3
	prefix := 0
	for prefix < 4 && prefix < len(a) && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

// Closest returns the candidate most similar to name (Jaro-Winkler, as
// [Diff] and the "did you mean" hints of this package's errors compare
// names), if its similarity is at least min (0 to 1; 0.8 suggests a likely
// typo); "" otherwise. Ties go to the earlier candidate.
func Closest(name string, candidates []string, min float64) string {
	return closest(name, candidates, min)
}

// closest is [Closest].
func closest(name string, candidates []string, min float64) string {
	best, bestScore := "", min
	for _, c := range candidates {
		if s := similarity(name, c); s > bestScore || s == bestScore && best == "" && s >= min {
			best, bestScore = c, s
		}
	}
	return best
}
