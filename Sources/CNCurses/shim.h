// Shim for ncursesw: wide-character curses plus what Swift cannot import directly
// (attribute macros are casts; stdscr, COLORS, COLOR_PAIRS, stdin and stdout are C globals).
#ifndef SONARLAB_CNCURSES_SHIM_H
#define SONARLAB_CNCURSES_SHIM_H

#define NCURSES_WIDECHAR 1
#ifndef _XOPEN_SOURCE_EXTENDED
#define _XOPEN_SOURCE_EXTENDED 1
#endif
#include <locale.h>
#include <stdio.h>
#include <wchar.h>
#include <ncursesw/curses.h>

static inline unsigned int sonarlab_a_normal(void) { return (unsigned int)A_NORMAL; }
static inline unsigned int sonarlab_a_bold(void) { return (unsigned int)A_BOLD; }
static inline unsigned int sonarlab_a_reverse(void) { return (unsigned int)A_REVERSE; }
static inline unsigned int sonarlab_a_underline(void) { return (unsigned int)A_UNDERLINE; }
static inline unsigned int sonarlab_a_dim(void) { return (unsigned int)A_DIM; }

/// Starts curses on the process's stdin/stdout; NULL (not exit) when the terminal cannot be used.
static inline SCREEN *sonarlab_newterm(void) { return newterm(NULL, stdout, stdin); }
static inline WINDOW *sonarlab_stdscr(void) { return stdscr; }
static inline int sonarlab_colors(void) { return COLORS; }
static inline int sonarlab_color_pairs(void) { return COLOR_PAIRS; }

/// Draws one (possibly wide) character with attributes and colour pair at (y, x).
static inline int sonarlab_put_wide(WINDOW *win, int y, int x, const wchar_t *text, unsigned int attrs, short pair) {
    cchar_t cell;
    if (setcchar(&cell, text, (attr_t)attrs, pair, NULL) != OK) return ERR;
    return mvwadd_wch(win, y, x, &cell);
}
#endif
