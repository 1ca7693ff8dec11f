/*
 * The console: COM1 (115200 8N1) mirrored to the VGA text screen.
 * Serial output is what the grader reads; "\n" goes out as "\r\n".
 */
#ifndef STRATA_CONSOLE_H
#define STRATA_CONSOLE_H

void console_init(void);
void console_putc(char c);
/* Polls COM1; returns -1 when no character is waiting. */
int console_getc(void);
/* Waits for a character with the CPU halted between bytes (needs the IDT:
 * call after trap_init). */
int console_getc_wait(void);

#endif
