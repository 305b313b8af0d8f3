/**
 * The shared params of normstats' Spark ML stages, one trait per concept as Spark's own
 * {@code org.apache.spark.ml.param.shared} (which is private to Spark): each trait declares its
 * Param (name, doc, validator), its getter and its setter once; a stage implements the traits it
 * has and holds their objects in a {@link io.normstats.ml.param.StageParams}, whose
 * {@code initialize} sets the defaults from {@link io.normstats.Defaults}. The names are Spark
 * ML's and the same in the Python wrappers; the command line spells them in kebab case
 * ({@code handleInvalid}: {@code --handle-invalid}).
 *
 * <p>A stage names each trait in its own {@code implements} clause (or its superclass does), not
 * through an interface that extends them: py4j, through which PySpark calls the JVM stages, looks
 * for a method in a class, its superclasses and their direct interfaces only.
 */
package io.normstats.ml.param;
