package pocketsphinx

/*
#cgo pkg-config: pocketsphinx
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pocketsphinx.h>
#include <sphinxbase/err.h>

// Errors from sphinxbase are collected per thread, so the wrapper below can
// hand the message of a failed call back to Go instead of printing it. Info
// and warnings are dropped: the library is chatty and has no level switch.
static __thread char lkgo_err[512];

static void lkgo_log(void *ud, err_lvl_t lvl, const char *fmt, ...) {
	(void)ud;
	if (lvl < ERR_ERROR) return;
	size_t len = strlen(lkgo_err);
	if (len >= sizeof lkgo_err - 1) return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(lkgo_err + len, sizeof lkgo_err - len, fmt, ap);
	va_end(ap);
}

void lkgo_quiet(void) {
	err_set_logfp(NULL); // also silences the configuration dump
	err_set_callback(lkgo_log, NULL);
}

static void lkgo_take_err(char *out, size_t n) {
	snprintf(out, n, "%s", lkgo_err);
	lkgo_err[0] = 0;
}

// lkgo_init builds a config from argv (cgo cannot call the variadic
// cmd_ln_init) and a decoder from it; it releases the config either way.
ps_decoder_t *lkgo_init(int argc, char **argv, char *err, size_t n) {
	lkgo_err[0] = 0;
	cmd_ln_t *cfg = cmd_ln_parse_r(NULL, ps_args(), argc, argv, 1);
	if (cfg == NULL) { lkgo_take_err(err, n); return NULL; }
	ps_decoder_t *ps = ps_init(cfg);
	cmd_ln_free_r(cfg);
	lkgo_take_err(err, n);
	return ps;
}

int lkgo_set_jsgf(ps_decoder_t *ps, const char *name, const char *jsgf, char *err, size_t n) {
	lkgo_err[0] = 0;
	int rv = ps_set_jsgf_string(ps, name, jsgf);
	if (rv == 0) rv = ps_set_search(ps, name);
	lkgo_take_err(err, n);
	return rv;
}

int lkgo_set_kws(ps_decoder_t *ps, const char *name, const char *file, char *err, size_t n) {
	lkgo_err[0] = 0;
	int rv = ps_set_kws(ps, name, file);
	if (rv == 0) rv = ps_set_search(ps, name);
	lkgo_take_err(err, n);
	return rv;
}

int lkgo_set_lm(ps_decoder_t *ps, const char *name, const char *file, char *err, size_t n) {
	lkgo_err[0] = 0;
	int rv = ps_set_lm_file(ps, name, file);
	if (rv == 0) rv = ps_set_search(ps, name);
	lkgo_take_err(err, n);
	return rv;
}

int lkgo_has_word(ps_decoder_t *ps, const char *word) {
	char *phones = ps_lookup_word(ps, word);
	if (phones == NULL) return 0;
	free(phones);
	return 1;
}

const char *lkgo_hyp(ps_decoder_t *ps) {
	int32 score;
	return ps_get_hyp(ps, &score);
}
*/
import "C"
