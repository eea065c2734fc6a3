/* Early stopping and the halving learning-rate schedule of chapter 3, as a
 * small state machine over the validation accuracy of each epoch. */
#include <math.h>

#include "nndl.h"

void nndl_plateau_init(nndl_plateau *p, int early_stop, int halve_after, double halve_factor,
                       float eta)
{
    p->early_stop = early_stop > 0 ? early_stop : 0;
    p->halve_after = halve_after > 0 ? halve_after : 0;
    p->halve_factor = halve_factor;
    p->eta_initial = p->eta = eta;
    p->best = -INFINITY;
    p->best_epoch = -1;
    p->since_best = 0;
    p->since_change = 0;
}

int nndl_plateau_update(nndl_plateau *p, int epoch, double accuracy)
{
    int flags = 0;
    if (accuracy > p->best) {
        p->best = accuracy;
        p->best_epoch = epoch;
        p->since_best = p->since_change = 0;
        flags |= NNDL_PLATEAU_IMPROVED;
    } else {
        p->since_best++;
        p->since_change++;
    }
    /* "no improvement in N epochs": halve eta and start counting again */
    if (p->halve_after && p->since_change >= p->halve_after) {
        p->eta /= 2;
        p->since_change = 0;
        flags |= NNDL_PLATEAU_HALVED;
        if (p->eta_initial / p->eta >= p->halve_factor) flags |= NNDL_PLATEAU_STOP;
    }
    if (p->early_stop && p->since_best >= p->early_stop) flags |= NNDL_PLATEAU_STOP;
    return flags;
}
