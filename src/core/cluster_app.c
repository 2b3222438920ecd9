/* cluster_app.c -- see cluster_app.h. */
#include "core/cluster_app.h"

#include "base/log.h"
#include "core/cluster/cluster.h"

void core_cluster_app_start(struct core_app *app, const struct net_redis_target *target,
                            unsigned workers)
{
    app->cluster = core_cluster_new(target, workers);
    char shown[400];
    net_redis_target_format(target, shown, sizeof(shown));
    log_info("msg=\"sharing with other instances through redis\" redis=%s instance=%s", shown,
             core_cluster_id(app->cluster));
}
