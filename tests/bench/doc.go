// The measuring helpers of this package use Unix process accounting, so
// its other files build on Unix only; this one keeps the package buildable
// elsewhere.

package bench
