/* doc-coverage-bad.h: a header with known gaps, for the self-test of
 * tests/doc-coverage.py (tests/doc-coverage.sh).  Never installed. */
#ifndef DOC_COVERAGE_BAD_H
#define DOC_COVERAGE_BAD_H

#define BAD_UNDOCUMENTED_MACRO 1

/**
 * BAD_MACRO_ARGS:
 * @a: the first
 *
 * A function-like macro missing @b.
 */
#define BAD_MACRO_ARGS(a, b) ((a) + (b))

/**
 * BadEnum:
 * @BAD_ONE: documented
 *
 * An enum missing a value.
 *
 * Since: 0.1
 */
typedef enum
{
  BAD_ONE,
  BAD_TWO,
} BadEnum;

/**
 * BadStruct:
 * @field_a: documented
 * @stale: names no field
 *
 * A struct missing a field and a slot (its private part is not
 * reported).
 *
 * Since: 0.1
 */
typedef struct
{
  int field_a;
  const char *field_b;
  void (*slot) (int x);
  /*< private >*/
  void *reserved[4];
} BadStruct;

typedef struct _BadOpaque BadOpaque;

DAL_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (BadObject, bad_object, BAD, OBJECT, GObject)

/**
 * BadCallback:
 * @x: documented
 *
 * A callback missing @y and Returns.
 *
 * Since: 0.1
 */
typedef int (*BadCallback) (int x, int y);

/**
 * bad_no_returns:
 * @self: a thing
 *
 * A function missing Returns and Since.
 */
DAL_AVAILABLE_IN_ALL
int bad_no_returns (BadStruct *self);

/**
 * bad_missing_param:
 * @format: a format
 *
 * A function missing @count and the varargs.
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
void bad_missing_param (int count, const char *format, ...) G_GNUC_PRINTF (2, 3);

DAL_AVAILABLE_IN_ALL
void bad_undocumented (void);

/**
 * bad_complete:
 * @self: a thing
 *
 * Complete: not reported.
 *
 * Returns: (transfer none): something
 *
 * Since: 0.1
 */
DAL_AVAILABLE_IN_ALL
const char *bad_complete (BadStruct *self);

#endif /* DOC_COVERAGE_BAD_H */
