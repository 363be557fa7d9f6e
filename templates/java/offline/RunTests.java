import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.Comparator;
import org.junit.jupiter.api.Test;

/**
 * A minimal test runner for build-offline.sh, where neither Maven nor JUnit is available: runs every @Test method of
 * the classes named on the command line, each on a new instance, and ends with "N passed, N failed". Exits 1 when a
 * test failed.
 */
public final class RunTests {

  public static void main(String[] classNames) throws Exception {
    int passed = 0;
    int failed = 0;
    for (String className : classNames) {
      Class<?> testClass = Class.forName(className);
      Method[] methods = testClass.getDeclaredMethods();
      Arrays.sort(methods, Comparator.comparing(Method::getName));
      for (Method method : methods) {
        if (!method.isAnnotationPresent(Test.class)) continue;
        String name = testClass.getSimpleName() + "." + method.getName();
        try {
          Constructor<?> constructor = testClass.getDeclaredConstructor();
          constructor.setAccessible(true);
          method.setAccessible(true);
          method.invoke(constructor.newInstance());
          passed++;
          System.out.println("  ok    " + name);
        } catch (InvocationTargetException e) {
          failed++;
          System.out.println("  FAIL  " + name + ": " + e.getCause());
          e.getCause().printStackTrace(System.out);
        }
      }
    }
    System.out.println();
    System.out.println(passed + " passed, " + failed + " failed");
    System.exit(failed == 0 && passed > 0 ? 0 : 1);
  }
}
