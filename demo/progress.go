package demo

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// progressWidth is the number of cells of a terminal progress bar.
const progressWidth = 12

// progress shows the demo's catalog progress: one line redrawn with \r on a
// terminal, otherwise a line whenever a task's phase or quarter changes, so
// logs of a CI run stay short.
type progress struct {
	w     io.Writer
	tty   bool
	order []string
	tasks map[string]*task
}

// task is one provider's catalog: built, then downloaded.
type task struct {
	phase       string
	done, total uint64
	printed     string // non-terminal: the last line written
}

func newProgress(w io.Writer, tty bool) *progress {
	return &progress{w: w, tty: tty, tasks: map[string]*task{}}
}

// update sets name's phase and progress; total 0 means not known yet.
func (p *progress) update(name, phase string, done, total uint64) {
	t, ok := p.tasks[name]
	if !ok {
		t = &task{}
		p.tasks[name] = t
		p.order = append(p.order, name)
	}
	t.phase, t.done, t.total = phase, done, total
}

// flush writes the current state.
func (p *progress) flush() {
	if p.tty {
		var line strings.Builder
		for _, name := range p.order {
			t := p.tasks[name]
			cells := 0
			if t.total > 0 {
				cells = int(min(t.done, t.total) * progressWidth / t.total)
			}
			fmt.Fprintf(&line, "  %s %-8s [%s%s] %3d%%", name, t.phase,
				strings.Repeat("#", cells), strings.Repeat("-", progressWidth-cells), percent(t.done, t.total))
		}
		fmt.Fprintf(p.w, "\r %s", line.String())
		return
	}
	for _, name := range p.order {
		t := p.tasks[name]
		line := fmt.Sprintf("   %s %s %d%%", name, t.phase, percent(t.done, t.total)/25*25)
		if line != t.printed {
			fmt.Fprintln(p.w, line)
			t.printed = line
		}
	}
}

// end finishes a terminal's redrawn line.
func (p *progress) end() {
	if p.tty && len(p.order) > 0 {
		fmt.Fprintln(p.w)
	}
}

func percent(done, total uint64) int {
	if total == 0 {
		return 0
	}
	return int(min(done, total) * 100 / total)
}

// IsTerminal reports whether w is a character device, where the progress
// bars redraw their line (Config.Terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
