"""Project control for managers: milestones, budget, risks and stakeholder status updates."""
