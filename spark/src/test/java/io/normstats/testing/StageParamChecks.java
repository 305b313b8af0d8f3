package io.normstats.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.ml.param.Param;
import org.apache.spark.ml.param.Params;

/**
 * Checks of a Spark ML stage's params shared by the modules' tests: their names, and whether
 * PySpark can call their accessors. py4j, PySpark's bridge to the JVM, looks for a method called
 * from Python in the object's class, its superclasses, and the interfaces each of them names
 * directly (py4j 0.10.9's ReflectionEngine.getMethodsByNameAndLength reads getDeclaredMethods of
 * those, not of an interface's superinterfaces).
 */
public final class StageParamChecks {
  private StageParamChecks() {}

  /** The names of {@code stage}'s params, as Spark finds them, sorted. */
  public static java.util.SortedSet<String> names(Params stage) {
    java.util.SortedSet<String> names = new java.util.TreeSet<>();
    for (Param<?> p : stage.params()) {
      names.add(p.name());
    }
    return names;
  }

  /** Whether py4j finds a method {@code name} on an object of class {@code type}. */
  public static boolean finds(Class<?> type, String name) {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      List<Class<?>> places = new ArrayList<>(List.of(c));
      places.addAll(Arrays.asList(c.getInterfaces()));
      for (Class<?> place : places) {
        for (Method m : place.getDeclaredMethods()) {
          if (m.getName().equals(name)) {
            return true;
          }
        }
      }
    }
    return false;
  }

  /** Asserts that py4j finds every param's accessor, getter and (but for models) setter. */
  public static void assertPySparkReachesEveryParam(Params stage, boolean setters) {
    for (Param<?> p : stage.params()) {
      String cap = Character.toUpperCase(p.name().charAt(0)) + p.name().substring(1);
      List<String> methods = new ArrayList<>(List.of(p.name(), "get" + cap));
      if (setters) {
        methods.add("set" + cap);
      }
      for (String method : methods) {
        assertTrue(finds(stage.getClass(), method),
            stage.getClass().getSimpleName() + "." + method + " is out of py4j's reach");
      }
    }
  }
}
