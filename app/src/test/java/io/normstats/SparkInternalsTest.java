package io.normstats;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Spark's internal APIs are used in one package, {@code io.normstats.spark.internal}, the place to
 * port per Spark release: no other main class of any module (core, spark, onnx, app) depends on a
 * class of Catalyst, the execution layer, classic Spark SQL or Spark's unsafe memory, except the
 * row data interfaces that Spark's public connector API shares.
 */
class SparkInternalsTest {
  /** Packages of Spark's internals. */
  private static final String[] INTERNAL = {"org.apache.spark.sql.catalyst..",
      "org.apache.spark.sql.execution..", "org.apache.spark.sql.classic..",
      "org.apache.spark.sql.internal..", "org.apache.spark.unsafe.."};

  /** The row data of Spark's public DataSource V2 API (its readers' and writers' rows). */
  private static final Set<String> SHARED_DATA = Set.of(
      "org.apache.spark.sql.catalyst.InternalRow", "org.apache.spark.sql.catalyst.util.ArrayData",
      "org.apache.spark.sql.catalyst.util.MapData",
      "org.apache.spark.unsafe.types.UTF8String");

  /** Main classes only: no test classes, no test jars. */
  private static final ImportOption MAIN_CLASSES = location ->
      ImportOption.Predefined.DO_NOT_INCLUDE_TESTS.includes(location)
          && !location.contains("-tests.jar");

  @Test
  void onlyTheInternalPackageUsesSparkInternals() {
    JavaClasses classes = new ClassFileImporter().withImportOption(MAIN_CLASSES)
        .importPackages("io.normstats");
    // every module's classes were imported (else the rule would pass on nothing)
    for (String c : new String[] {"io.normstats.exact.ScalarMoments",
        "io.normstats.spark.ExactStatistics", "io.normstats.onnx.OnnxModel",
        "io.normstats.jobs.Main", "io.normstats.spark.internal.ExactAggregate"}) {
      assertTrue(classes.contain(c), c + " was not imported");
    }
    DescribedPredicate<JavaClass> internal = new DescribedPredicate<>(
        "are Spark internals (Catalyst, execution, classic, unsafe) other than its row data") {
      @Override
      public boolean test(JavaClass c) {
        return JavaClass.Predicates.resideInAnyPackage(INTERNAL).test(c)
            && !SHARED_DATA.contains(c.getName());
      }
    };
    noClasses().that().resideOutsideOfPackage("io.normstats.spark.internal..")
        .should().dependOnClassesThat(internal)
        .check(classes);
  }
}
