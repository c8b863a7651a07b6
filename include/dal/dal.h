/* dal.h: everything an application includes to use libdal.
 *
 * libdal lets a program name its database by URL
 * ("postgresql+asyncpg://app@db.example.com/app") and get the driver the
 * URL's scheme names, loaded at run time as a plugin.  The program's code
 * does not change when the driver does.
 *
 * Thread safety: DalUrl and DalResult are immutable and may be shared
 * between threads.  DalRegistry is thread-safe.  A DalConnection is used by
 * one thread at a time (like a PGconn); its async calls complete on the
 * thread-default main context of the thread that started them.
 */
#ifndef DAL_H
#define DAL_H

#define DAL_H_INSIDE

#include <dal/dal-version.h>
#include <dal/dal-enum-types.h>
#include <dal/dal-error.h>
#include <dal/dal-url.h>
#include <dal/dal-result.h>
#include <dal/dal-registry.h>
#include <dal/dal-connection.h>
#include <dal/dal-batch.h>
#include <dal/dal-copy.h>
#include <dal/dal-notify.h>
#include <dal/dal-pool.h>
#include <dal/dal-migrate.h>
#include <dal/dal-config.h>

#undef DAL_H_INSIDE

#endif /* DAL_H */
