/* `coffre server --check-config FILE`: the configuration, checked alone. */
#ifndef COFFRE_SRC_SERVER_CONFIG_CHECK_H
#define COFFRE_SRC_SERVER_CONFIG_CHECK_H

/**
 * srv_config_check(path): parse ${path} exactly as `coffre server --config`
 * does (docs/server.md) and say on standard output that it is accepted, or
 * on standard error what is wrong, naming the key. Files the configuration
 * names that cannot be read now get a warning line, not a refusal (the
 * check may run as another user than the service). Opens no vault, binds
 * nothing. Returns the exit status: 0 accepted, 1 refused.
 */
int srv_config_check(const char *path);

#endif
