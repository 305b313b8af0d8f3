package io.normstats.spark;

import java.util.Iterator;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;

/**
 * A test hook that fails the first attempt of every other task of the passes that compute
 * statistics, after the task has done its work, to show that Spark's task retries (with
 * {@code spark.task.maxFailures} above 1) give results bit-identical to a run without failures.
 *
 * <p>Off unless the driver sets the local property {@value #KEY} to {@code true} for its jobs
 * ({@code sparkContext.setLocalProperty}) or the application runs with
 * {@code --conf spark.}{@value #KEY}{@code =true}. Costs one property lookup per task.
 */
public final class FaultInjection {
  /** The local property (and, prefixed with {@code spark.}, the Spark setting) that turns it on. */
  public static final String KEY = "normstats.test.failFirstAttempts";

  private FaultInjection() {}

  /**
   * Throws if the hook is on, this is the first attempt of its task, and the task's partition is
   * even; does nothing outside a Spark task.
   *
   * @param site where the task is, for the message
   * @throws IllegalStateException the injected failure
   */
  public static void afterWork(String site) {
    TaskContext task = TaskContext.get();
    if (task == null || task.attemptNumber() > 0 || task.partitionId() % 2 != 0) {
      return;
    }
    boolean on = "true".equals(task.getLocalProperty(KEY));
    if (!on && SparkEnv.get() != null) {
      on = SparkEnv.get().conf().getBoolean("spark." + KEY, false);
    }
    if (on) {
      throw new IllegalStateException("injected failure of the first attempt of task "
          + task.partitionId() + " of stage " + task.stageId() + " (" + site + "; " + KEY + ")");
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
