package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"gosort/newsort"
)

type item struct {
	name string
	idx  int
}

func lessOf(s []item) func(i, j int) bool {
	return func(i, j int) bool {
		iName, err := strconv.Atoi(s[i].name)
		if err != nil {
			return false
		}
		jName, err := strconv.Atoi(s[j].name)
		if err != nil {
			return false
		}
		return iName < jName
	}
}

func main() {
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		names := strings.Split(sc.Text(), "\x1f")
		a := make([]item, len(names))
		b := make([]item, len(names))
		for i, n := range names {
			a[i] = item{n, i}
			b[i] = item{n, i}
		}
		sort.Slice(a, lessOf(a))
		newsort.Slice(len(b), lessOf(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
		oa := make([]string, len(a))
		ob := make([]string, len(b))
		for i := range a {
			oa[i] = strconv.Itoa(a[i].idx)
			ob[i] = strconv.Itoa(b[i].idx)
		}
		fmt.Println(strings.Join(oa, ",") + ";" + strings.Join(ob, ","))
	}
}
