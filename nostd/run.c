/* Runs neuron-nostd's code built without std: linked as a static library
 * (`cargo rustc -p neuron-nostd --features bare --crate-type staticlib --
 * -C panic=abort`), so the training below runs on core, alloc, the bump
 * allocator of `bare.rs` and libm. Exits 0 when the numbers are right. */
#include <math.h>
#include <stdio.h>

float neuron_nostd_xor_loss(void);
double neuron_nostd_running_example(void);

int main(void) {
    double y = neuron_nostd_running_example();
    float loss = neuron_nostd_xor_loss();
    printf("no_std: running example after one step %.12f (want 5.985), "
           "XOR loss after 500 epochs of Adam %g (want < 0.01)\n",
           y, loss);
    return fabs(y - 5.985) < 1e-12 && loss < 0.01f ? 0 : 1;
}
