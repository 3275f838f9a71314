/*
 * greeting: a sonde plugin written in C, to prove the ABI is language
 * neutral. It needs no JSON library: its section reports the length of
 * the request it received and how many addresses the dns section holds
 * (counted as occurrences of "\"ip\":"), and greets the target.
 *
 * Build: cc -shared -fPIC -I plugins/sdk/include -o libgreeting.so greeting.c
 * Defining SONDE_GREETING_ABI_MAJOR builds it for another ABI version (the
 * tests use that to check the host refuses it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sonde_plugin.h"

#ifndef SONDE_GREETING_ABI_MAJOR
#define SONDE_GREETING_ABI_MAJOR SONDE_PLUGIN_ABI_MAJOR
#endif

static char *copy(const char *text) {
    size_t n = strlen(text) + 1;
    char *out = malloc(n);
    if (out != NULL) {
        memcpy(out, text, n);
    }
    return out;
}

static char *describe(void) {
    return copy(
        "{\"name\":\"greeting\",\"version\":\"1.0.0\","
        "\"summary\":\"Greets the target from C\","
        "\"abi\":{\"major\":1,\"minor\":0},"
        "\"needs\":[\"dns\"],\"timeout_ms\":2000,"
        "\"config_schema\":{\"type\":\"object\",\"additionalProperties\":false,"
        "\"properties\":{\"greeting\":{\"type\":\"string\",\"maxLength\":40}}},"
        "\"output_schema\":{\"type\":\"object\",\"required\":[\"message\",\"addresses\"]}}");
}

/* Copies the JSON string value after `key` (no escapes handled: the value
 * is only echoed when it is plain). */
static void string_after(const char *json, const char *key, char *out, size_t cap) {
    const char *p = strstr(json, key);
    out[0] = '\0';
    if (p == NULL) {
        return;
    }
    p += strlen(key);
    size_t i = 0;
    while (*p != '\0' && *p != '"' && *p != '\\' && i + 1 < cap) {
        out[i++] = *p++;
    }
    out[i] = '\0';
}

static char *run(const char *request) {
    char host[256];
    char greeting[64];
    string_after(request, "\"host\":\"", host, sizeof host);
    string_after(request, "\"greeting\":\"", greeting, sizeof greeting);
    if (greeting[0] == '\0') {
        strcpy(greeting, "hello");
    }
    /* The dns section's "addresses" list holds flat objects: count the
     * "ip" keys up to its closing bracket. */
    int addresses = 0;
    const char *list = strstr(request, "\"addresses\":[");
    const char *end = list != NULL ? strchr(list, ']') : NULL;
    for (const char *p = list; p != NULL && (p = strstr(p, "\"ip\":")) != NULL && p < end; p++) {
        addresses++;
    }
    size_t cap = strlen(host) + strlen(greeting) + 256;
    char *out = malloc(cap);
    if (out == NULL) {
        return NULL;
    }
    snprintf(out, cap,
             "{\"status\":\"ok\",\"section\":{\"message\":\"%s from C, %s\","
             "\"addresses\":%d,\"request_bytes\":%zu}}",
             greeting, host, addresses, strlen(request));
    return out;
}

static void release(char *text) { free(text); }

static const struct sonde_plugin entry = {
    SONDE_GREETING_ABI_MAJOR, SONDE_PLUGIN_ABI_MINOR, sizeof(struct sonde_plugin),
    describe, run, release,
};

const struct sonde_plugin *sonde_plugin_entry(void) { return &entry; }
