/*
 * sonde_plugin.h: the C ABI of sonde collector plugins, version 1.0.
 *
 * A plugin is a shared library that exports one function,
 *
 *     const struct sonde_plugin *sonde_plugin_entry(void);
 *
 * returning a pointer to a table that lives as long as the library (a
 * static). Only NUL-terminated UTF-8 JSON crosses the boundary:
 *
 *   describe()      returns the manifest, or {"error": "..."}
 *   run(request)    takes a request, returns a response
 *   free(text)      frees a string returned by describe or run
 *
 * Every string the plugin returns is allocated by the plugin and given
 * back to its own `free`; the host never frees it otherwise, and never
 * keeps a pointer to the request after `run` returns. `run` may be called
 * from any thread, one call at a time per run. The JSON shapes, with
 * examples, are in docs/writing-a-plugin.md.
 *
 * Versioning: the host reads abi_major, abi_minor and size first. It runs
 * a plugin whose major version equals its own and whose minor version is
 * not newer than its own. Minor versions only append fields to this table
 * (a host finds them through `size`) and optional fields to the JSON.
 */
#ifndef SONDE_PLUGIN_H
#define SONDE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SONDE_PLUGIN_ABI_MAJOR 1
#define SONDE_PLUGIN_ABI_MINOR 0
#define SONDE_PLUGIN_ENTRY_SYMBOL "sonde_plugin_entry"

struct sonde_plugin {
    /* The ABI version the plugin was built for: SONDE_PLUGIN_ABI_*. */
    uint32_t abi_major;
    uint32_t abi_minor;
    /* sizeof(struct sonde_plugin) as the plugin was compiled. */
    size_t size;
    /* The manifest as JSON. Never NULL. */
    char *(*describe)(void);
    /* A request as JSON in, a response as JSON out. Never NULL. */
    char *(*run)(const char *request);
    /* Frees a string returned by describe or run. */
    void (*free)(char *text);
};

/* The one symbol a plugin exports. */
const struct sonde_plugin *sonde_plugin_entry(void);

/* Fills the version fields; use as
 *   static const struct sonde_plugin entry = {
 *       SONDE_PLUGIN_HEADER, my_describe, my_run, my_free };          */
#define SONDE_PLUGIN_HEADER \
    SONDE_PLUGIN_ABI_MAJOR, SONDE_PLUGIN_ABI_MINOR, sizeof(struct sonde_plugin)

#ifdef __cplusplus
}
#endif

#endif /* SONDE_PLUGIN_H */
