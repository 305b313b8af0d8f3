package io.normstats.spark;

import java.util.Iterator;
import java.util.function.Consumer;

/**
 * The point in each task of the passes that compute statistics after the task has done its work
 * and before its result leaves: where a test installs a hook (TaskRetryTest fails the first attempt
 * of every other task there, to show that Spark's retries give bit-identical results). Without an
 * installed hook it does nothing; only the JVM that installed one runs it (local mode), so the
 * executors of a cluster never do.
 */
public final class TaskHook {
  private static volatile Consumer<String> hook;

  private TaskHook() {}

  /**
   * Installs {@code afterWork} (called with a short name of the pass, on the task's thread; it may
   * throw to fail the task), or removes the hook with null.
   */
  public static void install(Consumer<String> afterWork) {
    hook = afterWork;
  }

  /** Runs the installed hook, if any, with {@code site} (where the task is). */
  public static void afterWork(String site) {
    Consumer<String> h = hook;
    if (h != null) {
      h.accept(site);
    }
  }

  /** {@code it}, calling {@link #afterWork} once it is exhausted. */
  static <T> Iterator<T> afterLast(Iterator<T> it, String site) {
    return new Iterator<>() {
      @Override
      public boolean hasNext() {
        boolean more = it.hasNext();
        if (!more) {
          afterWork(site);
        }
        return more;
      }

      @Override
      public T next() {
        return it.next();
      }
    };
  }
}
