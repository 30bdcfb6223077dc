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

// Last: term.h defines a macro for every terminfo capability name.
#include <ncursesw/term.h>

/// What terminfo says of `term` without touching the screen: 0 it can draw a full screen (known, with cursor
/// addressing and clear), 1 not set, 2 unknown (no terminfo entry), 3 known but cannot address the cursor
/// (e.g. `dumb`). Call before curses starts.
static inline int sonarlab_terminal_support(const char *term) {
    if (term == NULL || *term == 0) return 1;
    int err = 0;
    if (setupterm((char *)term, 1, &err) != OK) return 2;
    const char *cup = tigetstr("cup");
    const char *clr = tigetstr("clear");
    int result = (cup == NULL || cup == (char *)-1 || clr == NULL || clr == (char *)-1) ? 3 : 0;
    TERMINAL *probe = set_curterm(NULL);
    if (probe != NULL) del_curterm(probe);
    return result;
}
#endif
