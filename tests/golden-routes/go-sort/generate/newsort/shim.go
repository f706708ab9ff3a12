package newsort

import "math/bits"

type lessSwap struct {
	Less func(i, j int) bool
	Swap func(i, j int)
}

type sortedHint int

const (
	unknownHint sortedHint = iota
	increasingHint
	decreasingHint
)

type xorshift uint64

func (r *xorshift) Next() uint64 {
	*r ^= *r << 13
	*r ^= *r >> 7
	*r ^= *r << 17
	return uint64(*r)
}

func nextPowerOfTwo(length int) uint {
	return 1 << bits.Len(uint(length))
}

func Slice(n int, less func(i, j int) bool, swap func(i, j int)) {
	limit := bits.Len(uint(n))
	pdqsort_func(lessSwap{less, swap}, 0, n, limit)
}
